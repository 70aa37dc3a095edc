# nettool_warnings: the warning set every nettool target builds with (clean, and -Werror in CI).
add_library(nettool_warnings INTERFACE)
target_compile_options(nettool_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                                  -Wold-style-cast -Wcast-align)
if(NETTOOL_WERROR)
  target_compile_options(nettool_warnings INTERFACE -Werror)
endif()

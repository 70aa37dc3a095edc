# Every dependency comes from a Debian 12 package; scripts/install-deps.sh installs them.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(fmt REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(CLI11 REQUIRED)

# Standalone Asio (libasio-dev) is header-only and ships no CMake package.
find_path(ASIO_INCLUDE_DIR asio.hpp REQUIRED)
if(NOT TARGET nettool_asio)
  add_library(nettool_asio INTERFACE)
  target_include_directories(nettool_asio SYSTEM INTERFACE ${ASIO_INCLUDE_DIR})
  target_compile_definitions(nettool_asio INTERFACE ASIO_STANDALONE ASIO_NO_DEPRECATED)
  target_link_libraries(nettool_asio INTERFACE Threads::Threads)
endif()

pkg_check_modules(PCAP REQUIRED IMPORTED_TARGET libpcap)
pkg_check_modules(LDNS REQUIRED IMPORTED_TARGET ldns)
pkg_check_modules(OPENSSL REQUIRED IMPORTED_TARGET libssl)
# The exporter (issue 15): cpp-httplib for HTTP, yaml-cpp for its config.
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
find_package(yaml-cpp REQUIRED)

# Libraries libnettool opens only when a command needs them (dlopen, lib/src/core/shared_object):
# their sonames, read from the files pkg-config names, so the build and the loader agree.
function(nettool_soname out_var library_path)
  execute_process(COMMAND objdump -p ${library_path} OUTPUT_VARIABLE dump RESULT_VARIABLE rc)
  string(REGEX MATCH "SONAME +([^\n ]+)" match "${dump}")
  if(NOT rc EQUAL 0 OR NOT CMAKE_MATCH_1)
    message(FATAL_ERROR "cannot read the soname of ${library_path}")
  endif()
  set(${out_var} ${CMAKE_MATCH_1} PARENT_SCOPE)
endfunction()
list(GET LDNS_LINK_LIBRARIES 0 NETTOOL_LDNS_LIBRARY)
nettool_soname(NETTOOL_LDNS_SONAME ${NETTOOL_LDNS_LIBRARY})
list(GET PCAP_LINK_LIBRARIES 0 NETTOOL_PCAP_LIBRARY)
nettool_soname(NETTOOL_PCAP_SONAME ${NETTOOL_PCAP_LIBRARY})
list(GET OPENSSL_LINK_LIBRARIES 0 NETTOOL_SSL_LIBRARY)
nettool_soname(NETTOOL_SSL_SONAME ${NETTOOL_SSL_LIBRARY})

# Proves the layer check bites: builds small trees that break the rule in each way it knows and
# runs cmake/NettoolLayers.cmake on them; each must fail naming the offending file. A clean tree
# must pass. Run by ctest as `layers_check_rejects_violations`.
if(NOT WORK_DIR OR NOT CHECK)
  message(FATAL_ERROR "usage: cmake -DWORK_DIR=... -DCHECK=.../NettoolLayers.cmake -P layers_check.cmake")
endif()

function(expect_check tree expect_ok expect_text)
  execute_process(COMMAND ${CMAKE_COMMAND} -DSOURCE_DIR=${tree} -P ${CHECK}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  set(all "${out}${err}")
  if(expect_ok AND rc)
    message(FATAL_ERROR "clean tree ${tree} was rejected:\n${all}")
  endif()
  if(NOT expect_ok AND NOT rc)
    message(FATAL_ERROR "tree ${tree} should have been rejected (${expect_text}) but passed:\n${all}")
  endif()
  if(NOT all MATCHES "${expect_text}")
    message(FATAL_ERROR "tree ${tree}: expected '${expect_text}' in:\n${all}")
  endif()
endfunction()

function(make_tree name)  # ARGN: path=content pairs separated by '|'
  set(tree ${WORK_DIR}/${name})
  file(REMOVE_RECURSE ${tree})
  foreach(entry ${ARGN})
    string(FIND "${entry}" "|" bar)
    string(SUBSTRING "${entry}" 0 ${bar} path)
    math(EXPR start "${bar} + 1")
    string(SUBSTRING "${entry}" ${start} -1 content)
    file(WRITE ${tree}/${path} "${content}\n")
  endforeach()
endfunction()

make_tree(clean
  "lib/src/core/a.cpp|#include <nettool/core/a.hpp>"
  "lib/include/nettool/core/a.hpp|#include <nlohmann/json_fwd.hpp>"
  "lib/src/probe/b.cpp|#include <nettool/net/c.hpp>\n#include \"net/socket.hpp\"\n#include <asio.hpp>")
expect_check(${WORK_DIR}/clean TRUE "every include respects")

make_tree(upward "lib/src/core/a.cpp|#include <nettool/probe/tcp_probe.hpp>")
expect_check(${WORK_DIR}/upward FALSE "lib/src/core/a.cpp: layer 'core' includes <nettool/probe/tcp_probe.hpp>")

make_tree(sideways "lib/src/netclass/a.cpp|#include \"probe/session.hpp\"")
expect_check(${WORK_DIR}/sideways FALSE "layer 'netclass' includes \"probe/session.hpp\"")

make_tree(third_party "lib/src/net/a.cpp|#include <pcap.h>")
expect_check(${WORK_DIR}/third_party FALSE "layer 'net' may not include <pcap.h>")

make_tree(full_json "lib/include/nettool/core/a.hpp|#include <nlohmann/json.hpp>")
expect_check(${WORK_DIR}/full_json FALSE "use <nlohmann/json_fwd.hpp>")

make_tree(private_in_public "lib/include/nettool/net/a.hpp|#include \"net/socket.hpp\"")
expect_check(${WORK_DIR}/private_in_public FALSE "public header includes private")

make_tree(unknown_layer "lib/src/gadgets/a.cpp|int x;")
expect_check(${WORK_DIR}/unknown_layer FALSE "'gadgets' is not a layer")

make_tree(loose "lib/src/a.cpp|int x;")
expect_check(${WORK_DIR}/loose FALSE "outside any layer folder")

make_tree(source_include "lib/src/dns/a.cpp|#include \"b.cpp\"")
expect_check(${WORK_DIR}/source_include FALSE "includes a source file")

message(STATUS "layer check: rejects every kind of violation and accepts a clean tree")

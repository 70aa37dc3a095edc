#pragma once
// libpcap, loaded when a command first captures, reads or writes a capture (dlopen), not when
// nettool starts: libpcap pulls in dbus and systemd, whose relocations cost every nettool run
// about 1.7 million instructions of dynamic loading (docs/performance.md).
//
// Calls go through pcap(): `pcap().close(p)` for `pcap_close(p)`. The types and constants still
// come from <pcap.h>. NETTOOL_PCAP_FUNCTIONS lists every function the library uses (packet and
// netclass); one more is one more line there.

#include <pcap.h>

namespace nettool::detail {

#define NETTOOL_PCAP_FUNCTIONS(X)          \
    X(activate)                            \
    X(breakloop)                           \
    X(close)                               \
    X(compile)                             \
    X(create)                              \
    X(datalink)                            \
    X(datalink_val_to_name)                \
    X(dispatch)                            \
    X(dump_close)                          \
    X(dump_fopen)                          \
    X(file)                                \
    X(fopen_offline_with_tstamp_precision) \
    X(freecode)                            \
    X(get_selectable_fd)                   \
    X(geterr)                              \
    X(inject)                              \
    X(next_ex)                             \
    X(open_dead_with_tstamp_precision)     \
    X(set_buffer_size)                     \
    X(set_immediate_mode)                  \
    X(set_promisc)                         \
    X(set_snaplen)                         \
    X(set_timeout)                         \
    X(set_tstamp_precision)                \
    X(setdirection)                        \
    X(setfilter)                           \
    X(setnonblock)                         \
    X(snapshot)                            \
    X(stats)                               \
    X(statustostr)

struct pcap_api {
#define NETTOOL_PCAP_MEMBER(name) decltype(&::pcap_##name) name = nullptr;
    NETTOOL_PCAP_FUNCTIONS(NETTOOL_PCAP_MEMBER)
#undef NETTOOL_PCAP_MEMBER
};

/// The loaded library (once per process, thread-safe). Throws nettool::error naming the library
/// when it cannot be loaded.
const pcap_api& pcap();

}  // namespace nettool::detail

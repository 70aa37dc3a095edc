#pragma once
// Private: the words for where a UDP stream's datagrams were lost, shared by `nettool udp` and
// tcp-vs-udp so both say it the same way.

#include <nettool/probe/udp_probe.hpp>

#include <string>

namespace nettool::detail {

/// One sentence naming where the lost datagrams went: on the path, at the receiver's socket
/// buffer, both (with the counts), or that the responder did not say. Empty when nothing was lost.
std::string udp_loss_reading(const udp_stream_result& r);

/// "P on the path, R at the receiver" (or "not counted by the responder"); "-" with no loss.
std::string udp_loss_split(const udp_stream_result& r);

}  // namespace nettool::detail

#pragma once
// libnettool-exporter.so, opened when a command needs it (`nettool exporter`, `serve --metrics`)
// rather than linked: its HTTP library loads OpenSSL, brotli and zlib, which every other command
// would pay for at start (nettool/exporter/exporter.hpp).

#include <nettool/exporter/plugin.hpp>

#include <string>

namespace nettool::cli {

/// The library's table, or null with why it could not be opened in `why`.
const exporter::plugin_api* load_exporter_plugin(std::string& why);

}  // namespace nettool::cli

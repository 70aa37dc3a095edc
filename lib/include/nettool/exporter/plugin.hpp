#pragma once
// How the CLI reaches libnettool-exporter.so without linking it: it opens the library when an
// exporter command runs and asks it for this table (see exporter.hpp for why).

#include <nettool/exporter/exporter.hpp>

#include <memory>
#include <string>

namespace nettool::exporter {

struct plugin_api {
    std::unique_ptr<exporter_service> (*start)(const exporter_options&);
    /// Reads and checks a config file, starting nothing: "N targets, M modules". Throws
    /// nettool::error as start() does for the same file.
    std::string (*check_config)(const std::string& path);
};

/// The library's soname and the one symbol the CLI looks up in it.
inline constexpr const char* plugin_soname = "libnettool-exporter.so.0";
inline constexpr const char* plugin_symbol = "nettool_exporter_plugin";
using plugin_entry = const plugin_api* (*)();

}  // namespace nettool::exporter

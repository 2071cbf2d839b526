// A position in a config file, carried by parsed values so that later checks can point at what was written.
#pragma once

namespace migctl::spec {

/// Where something was written: 1-based line and column (columns count bytes, as yaml-cpp does); 0 when
/// unknown (e.g. built in code).
struct SourcePos {
  unsigned line = 0;
  unsigned column = 0;
};

}  // namespace migctl::spec

// MIG profile names as written in mig-parted configs: `[<C>c.]<G>g.<GB>gb[+attr[,attr]]` or `...-attr`.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace migctl::spec {

/// A parsed profile name. Only its form is checked here; whether a GPU model has it is decided later, against
/// that model (names differ between models and drivers).
struct ProfileName {
  std::string text;        ///< As written, lower-cased: `1c.3g.40gb`, `1g.10gb+me`.
  std::string gi_name;     ///< The GPU-instance part with attributes: `3g.40gb`, `1g.10gb+me`, `1g.20gb-me`.
  unsigned ci_slices = 0;  ///< C; equals G when the `c.` part is not written.
  unsigned gi_slices = 0;  ///< G.
  unsigned memory_gb = 0;  ///< GB.
  bool has_ci_part = false;  ///< The `c.` part was written.

  /// The name with the `c.` part only where C differs from G, so that `1c.1g.10gb` and `1g.10gb` (the same
  /// profile) compare equal.
  std::string Canonical() const;
};

/// Parses a profile name with go-nvlib's grammar: C, G and GB are decimal integers with 1 ≤ C ≤ G and GB ≥ 1;
/// attributes follow one `+` (or one `-`, not both), comma-separated, each alphanumeric or `.`, not starting
/// with a digit or a dot, none repeated. Upper case is accepted and lower-cased. Errors are kInvalidInput and
/// say what is wrong with the name and how a valid one looks.
Result<ProfileName> ParseProfileName(std::string_view text);

}  // namespace migctl::spec

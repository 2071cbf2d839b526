// Memory sizes as people type them (`10G`, `512MiB`, `1.5G`) and as migctl prints them, in MiB.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace migctl {

/// Parses a memory size into MiB: a number (digits, optionally one `.` and more digits) and an optional unit,
/// case-insensitive, optionally separated by spaces. No unit means MiB. `M`/`MB`/`MiB` are MiB,
/// `G`/`GB`/`GiB` are GiB and `T`/`TB`/`TiB` are TiB: the decimal spellings are binary too, because that is
/// what they mean on a GPU (MIG profile `3g.40gb` is 40 GiB, nvidia-smi's `MB` are MiB) and users type `G`
/// for them. A fraction is rounded up to whole MiB (a task that needs `1.3G` needs at least 1332 MiB).
/// kInvalidInput for anything else, for 0 and for sizes past 2^64 MiB; the message names the accepted forms.
Result<unsigned long long> ParseMemoryMib(std::string_view text);

/// `mib` for people: whole or half/quarter GiB (at least 1 GiB) as `10 GiB`, `1.5 GiB`, `1.25 GiB`;
/// everything else exactly, as `512 MiB` or `81559 MiB`. ParseMemoryMib reads every result back to the same
/// value.
std::string FormatMib(unsigned long long mib);

}  // namespace migctl

// migctl's entry point as a function, so tests can run it in-process.
#pragma once

namespace migctl {

/// Parses argv, runs the chosen command, prints its output or one error line, and returns the exit code
/// (0 done, 1 failed, 2 bad usage or input, 3 assert found a difference).
int RunCli(int argc, char** argv);

}  // namespace migctl

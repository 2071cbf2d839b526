#include "common/error.h"

namespace migctl {

const char* ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidInput:
      return "invalid_input";
    case ErrorCode::kNotFound:
      return "not_found";
    case ErrorCode::kInfeasible:
      return "infeasible";
    case ErrorCode::kBusy:
      return "busy";
    case ErrorCode::kUnsupported:
      return "unsupported";
    case ErrorCode::kNvml:
      return "nvml";
    case ErrorCode::kIo:
      return "io";
    case ErrorCode::kCorrupt:
      return "corrupt";
    case ErrorCode::kInternal:
      return "internal";
  }
  return "internal";
}

Error Error::WithContext(const std::string& prefix) const {
  return Error{code, prefix + message, nvml_return};
}

bool IsUserError(const Error& error) {
  return error.code == ErrorCode::kInvalidInput || error.code == ErrorCode::kNotFound ||
         error.code == ErrorCode::kInfeasible;
}

}  // namespace migctl

#pragma once
// `/files/*` on the agent (reference/mesos-api.md §3.2): browse, read and download files in
// sandboxes, and nothing else. A sandbox is attached under virtual paths
// (`/frameworks/<fid>/executors/<eid>/runs/latest`) and its real host path; a request names a
// path below one of them. Requests that leave the sandbox, by `..` or through a symlink, are
// refused.

#include <map>
#include <string>
#include <string_view>

#include "dcos/common/result.hpp"

namespace dcos::agent {

struct ResolvedPath {
  std::string real;     // Canonical host path (symlinks resolved), inside `root`.
  std::string root;     // Canonical host path of the sandbox it is in.
};

// `attached` maps virtual (or real) sandbox paths to real ones. Errors: `Errc::not_found` when
// no sandbox holds the path or it does not exist; `Errc::permission_denied` when it resolves
// outside its sandbox.
Result<ResolvedPath> resolve_sandbox_path(const std::map<std::string, std::string>& attached, std::string_view requested);

// "drwxr-xr-x" for a `st_mode`. Pure.
std::string mode_string(unsigned mode);

}  // namespace dcos::agent

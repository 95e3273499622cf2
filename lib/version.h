// version.h: the toolkit's version and the git commit it was built from
// (written into every trace and benchmark row as provenance).
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

const char *ll_version(void);     // e.g. "0.1.0"
const char *ll_git_commit(void);  // short hash, "-dirty" when built from a modified tree

#ifdef __cplusplus
}
#endif

// Clang thread-safety annotations (checked with -Wthread-safety); they vanish under g++.
// Use with common/mutex.h: members GUARDED_BY(mu_), helpers EXCLUSIVE_LOCKS_REQUIRED(mu_).
#pragma once

#if defined(__clang__)
#define FRAISEQL_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define FRAISEQL_THREAD_ANNOTATION(x)
#endif

#define CAPABILITY(x) FRAISEQL_THREAD_ANNOTATION(capability(x))
#define SCOPED_CAPABILITY FRAISEQL_THREAD_ANNOTATION(scoped_lockable)
#define GUARDED_BY(x) FRAISEQL_THREAD_ANNOTATION(guarded_by(x))
#define PT_GUARDED_BY(x) FRAISEQL_THREAD_ANNOTATION(pt_guarded_by(x))
#define EXCLUSIVE_LOCKS_REQUIRED(...) FRAISEQL_THREAD_ANNOTATION(exclusive_locks_required(__VA_ARGS__))
#define LOCKS_EXCLUDED(...) FRAISEQL_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define ACQUIRE(...) FRAISEQL_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define RELEASE(...) FRAISEQL_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define ASSERT_CAPABILITY(x) FRAISEQL_THREAD_ANNOTATION(assert_capability(x))

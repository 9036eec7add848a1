#ifndef SWEEP_SPAWN_H
#define SWEEP_SPAWN_H
#include <sys/types.h>

/// Starts `file` (searched in PATH when it has no slash) with `argv` and `envp`, in `cwd` when not
/// NULL, as the leader of a new process group (so the whole group can be signalled), with default
/// signal dispositions and an empty signal mask, and with only fds 0, 1 and 2 open: stdin, stdout
/// and stderr are new pipes whose other ends are returned (close-on-exec in this process).
/// Returns 0 and sets *pid, or an errno value (nothing is left open then).
int sweep_spawn(const char *file, char *const argv[], char *const envp[], const char *cwd,
                pid_t *pid, int *stdin_fd, int *stdout_fd, int *stderr_fd);



/// Starts `file` detached from this terminal: in a new session, stdin from /dev/null, stdout and
/// stderr appended to `log_path`, default signals. Returns 0 and sets *pid, or an errno value.
int sweep_spawn_detached(const char *file, char *const argv[], char *const envp[], const char *log_path, pid_t *pid);
#endif

#define _GNU_SOURCE
#include "sweep_spawn.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

int sweep_spawn(const char *file, char *const argv[], char *const envp[], const char *cwd,
                pid_t *pid, int *stdin_fd, int *stdout_fd, int *stderr_fd) {
    int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
    int rc = 0;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    int have_fa = 0, have_attr = 0;
    if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) { rc = errno; goto fail; }
    if ((rc = posix_spawn_file_actions_init(&fa))) goto fail;
    have_fa = 1;
    if ((rc = posix_spawn_file_actions_adddup2(&fa, in[0], 0))) goto fail;
    if ((rc = posix_spawn_file_actions_adddup2(&fa, out[1], 1))) goto fail;
    if ((rc = posix_spawn_file_actions_adddup2(&fa, err[1], 2))) goto fail;
    if ((rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3))) goto fail;
    if (cwd && (rc = posix_spawn_file_actions_addchdir_np(&fa, cwd))) goto fail;
    if ((rc = posix_spawnattr_init(&attr))) goto fail;
    have_attr = 1;
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    if ((rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))) goto fail;
    if ((rc = posix_spawnattr_setpgroup(&attr, 0))) goto fail;
    if ((rc = posix_spawnattr_setsigdefault(&attr, &all))) goto fail;
    if ((rc = posix_spawnattr_setsigmask(&attr, &none))) goto fail;
    rc = posix_spawnp(pid, file, &fa, &attr, argv, envp);
    if (rc) goto fail;
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(in[0]); close(out[1]); close(err[1]);
    *stdin_fd = in[1]; *stdout_fd = out[0]; *stderr_fd = err[0];
    return 0;
fail:
    if (have_fa) posix_spawn_file_actions_destroy(&fa);
    if (have_attr) posix_spawnattr_destroy(&attr);
    for (int i = 0; i < 2; i++) {
        if (in[i] >= 0) close(in[i]);
        if (out[i] >= 0) close(out[i]);
        if (err[i] >= 0) close(err[i]);
    }
    return rc;
}

int sweep_spawn_detached(const char *file, char *const argv[], char *const envp[], const char *log_path, pid_t *pid) {
    int rc;
    int logfd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (logfd < 0) return errno;
    int nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (nullfd < 0) { rc = errno; close(logfd); return rc; }
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_adddup2(&fa, nullfd, 0);
    posix_spawn_file_actions_adddup2(&fa, logfd, 1);
    posix_spawn_file_actions_adddup2(&fa, logfd, 2);
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setsigmask(&attr, &none);
    rc = posix_spawn(pid, file, &fa, &attr, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(logfd);
    close(nullfd);
    return rc;
}

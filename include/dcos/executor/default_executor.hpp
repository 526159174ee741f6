#pragma once
// The default executor (Mesos `mesos-default-executor`, reference/mesos-api.md §11 "Command
// executor, default executor"): runs the task groups an agent hands it with LAUNCH_GROUP. Each
// task's command runs as its own process (session) in `<sandbox>/tasks/<task id>`, which is the
// task's MESOS_SANDBOX; it reports TASK_STARTING and TASK_RUNNING, then the end (exit 0 FINISHED,
// else FAILED, KILLED when killed). A task group lives and dies together: when one task fails or
// is killed, the others in its group are killed (TASK_KILLED). KILL honours the task's kill
// policy (default 3 s from SIGTERM to SIGKILL). The executor exits once no task is left and every
// update is acknowledged, or after SHUTDOWN.
//
// An agent starts it as its own binary with DCOS_DEFAULT_EXECUTOR=1 in the environment; such a
// binary calls `run_default_executor()` first thing in `main`.

namespace dcos::executor {

// Runs the default executor from the MESOS_* environment until it is done; returns the exit code.
int run_default_executor();

}  // namespace dcos::executor

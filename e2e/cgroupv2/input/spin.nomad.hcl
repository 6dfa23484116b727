# A busy exec task with memory oversubscription: on cgroup v2 its cgroup
# gets memory.max from memory_max, memory.low from memory and cpu.weight
# from cpu.
job "spin" {
  group "spin" {
    task "spin" {
      driver = "exec"

      config {
        command = "/bin/sh"
        args    = ["-c", "while :; do :; done"]
      }

      resources {
        cpu        = 500
        memory     = 64
        memory_max = 96
      }
    }
  }
}

# The exec driver isolates a command with namespaces and cgroups.
job "isolated" {
  type = "batch"

  group "isolated" {
    task "ls" {
      driver = "exec"

      config {
        command = "/bin/ls"
        args    = ["-la", "${NOMAD_TASK_DIR}"]
      }

      env {
        GREETING = "hello"
      }

      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}

job "greet" {
  type = "batch"

  parameterized {
    payload       = "required"
    meta_required = ["greeting"]
  }

  group "greet" {
    task "greet" {
      driver = "raw_exec"

      config {
        command = "/bin/sh"
        args    = ["-c", "cat ${NOMAD_TASK_DIR}/input.txt; echo; echo meta=${NOMAD_META_greeting}"]
      }

      dispatch_payload {
        file = "input.txt"
      }

      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}

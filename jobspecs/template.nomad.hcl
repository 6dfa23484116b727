# A template rendered into the task directory before the task starts.
locals {
  settings = {
    greeting = "hello"
    workers  = 4
  }
}

job "configured" {
  type = "batch"

  group "configured" {
    task "show" {
      driver = "raw_exec"

      template {
        destination = "local/app.yaml"
        data        = yamlencode(local.settings)
      }

      template {
        destination = "local/env"
        env         = true
        data        = <<-EOT
          ALLOC={{ env "NOMAD_ALLOC_ID" }}
          GREETING=${local.settings.greeting}
          EOT
      }

      config {
        command = "/bin/sh"
        args    = ["-c", "cat local/app.yaml; echo $GREETING"]
      }

      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}

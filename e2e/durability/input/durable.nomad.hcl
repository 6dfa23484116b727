job "durable" {
  datacenters = ["*"]

  group "durable" {
    restart {
      attempts = 3
      delay    = "1s"
      mode     = "delay"
    }

    task "web" {
      driver = "raw_exec"

      config {
        command = "/bin/sh"
        args = ["-c", <<-EOT
          echo $$ > "$NOMAD_ALLOC_DIR/data/pid.$NOMAD_TASK_NAME"
          echo "started $$"
          while true; do sleep 0.5; done
          EOT
        ]
      }

      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}

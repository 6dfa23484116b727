job "ops" {
  datacenters = ["*"]

  group "ops" {
    migrate {
      max_parallel = 1
    }

    task "web" {
      driver = "raw_exec"

      config {
        command = "/bin/sh"
        args = ["-c", <<-EOT
          ln -sfn /etc "$NOMAD_TASK_DIR/escape"
          echo "marker-$NOMAD_ALLOC_ID" > "$NOMAD_ALLOC_DIR/data/marker"
          trap 'echo got-usr1' USR1
          echo started
          while true; do sleep 0.2; done
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

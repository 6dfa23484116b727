job "consumer" {
  datacenters = ["*"]

  group "consumer" {
    task "render" {
      driver = "raw_exec"

      config {
        command = "/bin/sleep"
        args    = ["3600"]
      }

      template {
        destination = "local/upstreams.txt"
        change_mode = "noop"
        data        = <<-EOT
          {{- range nomadService "web" }}{{ .Address }}:{{ .Port }}
          {{ end -}}
        EOT
      }

      resources {
        cpu    = 20
        memory = 16
      }
    }
  }
}

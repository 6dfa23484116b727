# A parameterized job is a template started with `nomadish job dispatch`.
job "report" {
  type = "batch"

  parameterized {
    payload       = "optional"
    meta_required = ["customer"]
    meta_optional = ["format"]
  }

  group "report" {
    task "render" {
      driver = "raw_exec"

      dispatch_payload {
        file = "input.json"
      }

      config {
        command = "/bin/sh"
        args    = ["-c", "echo report for ${NOMAD_META_customer}; cat local/input.json || true"]
      }

      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}

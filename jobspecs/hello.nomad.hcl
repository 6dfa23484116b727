job "hello" {
  type = "batch"

  group "hello" {
    task "hello" {
      driver = "raw_exec"

      config {
        command = "/bin/echo"
        args    = ["hello from nomadish"]
      }

      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}

# Needs more CPU than any dev node has: nothing can be placed.
job "big" {
  group "big" {
    task "big" {
      driver = "raw_exec"

      config {
        command = "/bin/sleep"
        args    = ["300"]
      }

      resources {
        cpu    = 10000000
        memory = 32
      }
    }
  }
}

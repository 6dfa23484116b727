job "ext" {
  datacenters = ["*"]
  type        = "batch"

  group "g" {
    task "t" {
      driver = "mock_ext"

      config {
        run_for       = "300s"
        stdout_string = "hello from mock_ext"
      }

      resources {
        cpu    = 20
        memory = 16
      }
    }
  }
}

job "chatty" {
  datacenters = ["*"]

  group "chatty" {
    task "talk" {
      driver = "raw_exec"

      config {
        command = "/usr/bin/awk"
        args = ["BEGIN { pad = sprintf(\"%0100d\", 0); for (i = 1; ; i++) { printf \"line %d %s\\n\", i, pad; if (i % 2000 == 0) { fflush(); system(\"sleep 0.1\") } } }"]
      }

      logs {
        max_files     = 3
        max_file_size = 1
      }

      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}

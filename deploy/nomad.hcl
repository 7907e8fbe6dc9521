# herd-hello as a Nomad job with the `exec` driver: herd and hello installed on the clients
# (/usr/local/bin, /usr/local/lib/herd, as deploy/Dockerfile lays them out), the ecosystem file
# at /etc/herd/ecosystem.json.
#   nomad job run deploy/nomad.hcl
job "herd-hello" {
  datacenters = ["dc1"]
  type        = "service"

  group "web" {
    count = 2

    network {
      port "http" {
        static = 8080
      }
      port "metrics" {
        static = 9615
      }
    }

    service {
      name = "herd-hello"
      port = "http"

      check {
        name     = "herd-ready"
        type     = "http"
        port     = "metrics"
        path     = "/readyz"
        interval = "5s"
        timeout  = "2s"
      }

      check {
        name     = "herd-alive"
        type     = "http"
        port     = "metrics"
        path     = "/healthz"
        interval = "10s"
        timeout  = "2s"
      }
    }

    task "herd" {
      driver = "exec"

      config {
        command = "/usr/local/bin/herd"
        args    = ["runtime", "--metrics-port", "9615", "--metrics-addr", "0.0.0.0",
                   "/etc/herd/ecosystem.json"]
      }

      env {
        HERD_HOME = "${NOMAD_TASK_DIR}/herd"
      }

      # kill_timeout (10 s in the ecosystem file) + margin: SIGTERM, then Nomad's SIGKILL.
      kill_signal  = "SIGTERM"
      kill_timeout = "20s"

      resources {
        cpu    = 2000
        memory = 512
      }
    }
  }
}

# Post-processors: a single one, and a post-processors chain (checksum, then compress),
# plus shell-local with only/except.
source "qemu" "post" {
  iso_url          = "../shared/dummy.iso"
  iso_checksum     = "file:../shared/SHA256SUMS"
  ssh_username     = "root"
  ssh_password     = "pw-7Kq"
  shutdown_command = "poweroff"
}

build {
  sources = ["source.qemu.post"]

  post-processor "manifest" {
    output = "manifest.json"
  }

  post-processors {
    post-processor "checksum" {
      checksum_types = ["sha256"]
    }
    post-processor "compress" {
      output = "post.qcow2.gz"
    }
  }

  post-processor "shell-local" {
    inline = ["echo done"]
    only   = ["qemu.post"]
  }
}

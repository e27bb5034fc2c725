# A Vagrant box as the result: tsimg has no vagrant post-processor.
source "qemu" "box" {
  iso_url          = "../shared/dummy.iso"
  iso_checksum     = "file:../shared/SHA256SUMS"
  ssh_username     = "vagrant"
  ssh_password     = "vagrant"
  shutdown_command = "echo vagrant | sudo -S poweroff"
}

build {
  sources = ["source.qemu.box"]
  post-processor "vagrant" {
    output               = "box-{{ .Provider }}.box"
    vagrantfile_template = "Vagrantfile.template"
    compression_level    = 9
  }
}

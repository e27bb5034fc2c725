# A kickstart served from http_content, rendered by templatefile() so the root password is
# the one SSH uses; the template has a %{for} directive.
variable "root_password" {
  type      = string
  default   = "pw-7Kq"
  sensitive = true
}

source "qemu" "kickstart" {
  iso_url      = "${path.root}/../shared/dummy.iso"
  iso_checksum = "none"
  http_content = {
    "/ks.cfg" = templatefile("${path.root}/../shared/ks.pkrtpl.hcl", {
      root_password = var.root_password
      packages      = ["openssh-server", "qemu-guest-agent"]
    })
  }
  boot_command     = ["<up><tab> inst.text inst.ks=http://{{ .HTTPIP }}:{{ .HTTPPort }}/ks.cfg<enter>"]
  boot_wait        = "3s"
  qemuargs         = [["-serial", "stdio"], ["-m", "2048"]]
  ssh_username     = "root"
  ssh_password     = var.root_password
  shutdown_command = "/sbin/halt -h -p"
}

build {
  sources = ["source.qemu.kickstart"]
  provisioner "shell" {
    inline = ["dnf -y update"]
  }
}

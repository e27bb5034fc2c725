# Packer's build variables in provisioners and post-processors: a shell-local that runs
# Ansible against the VM over its forwarded SSH, as the Packer docs suggest, and a
# post-processor that names the run. build.name is known when the template loads.
variable "password" {
  type      = string
  default   = "pw-7Kq"
  sensitive = true
}

source "qemu" "vars" {
  iso_url          = "../shared/dummy.iso"
  iso_checksum     = "file:../shared/SHA256SUMS"
  ssh_username     = "root"
  ssh_password     = var.password
  shutdown_command = "poweroff"
}

build {
  name    = "ansible"
  sources = ["source.qemu.vars"]

  provisioner "shell-local" {
    environment_vars = [
      "ANSIBLE_HOST_KEY_CHECKING=False",
      "ANSIBLE_PASSWORD=${build.Password}",
    ]
    inline = [
      "ansible-playbook -i '${build.Host},' -u ${build.User} -e ansible_port=${build.Port} -e ansible_connection=${build.ConnType} site.yml",
      "echo ${build.name}: served at ${build.PackerHTTPAddr} (${build.PackerHTTPIP}:${build.PackerHTTPPort})",
    ]
  }

  post-processor "shell-local" {
    inline = ["echo ${build.ID} built in run ${build.PackerRunUUID}; key ${build.SSHPublicKey}"]
  }
}

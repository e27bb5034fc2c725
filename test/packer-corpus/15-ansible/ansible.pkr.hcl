# Configuration by Ansible over the build's SSH connection.
source "qemu" "ansible" {
  iso_url          = "../shared/dummy.iso"
  iso_checksum     = "file:../shared/SHA256SUMS"
  ssh_username     = "builder"
  ssh_password     = "builder"
  shutdown_command = "sudo shutdown -P now"
}

build {
  sources = ["source.qemu.ansible"]
  provisioner "ansible" {
    playbook_file    = "./node.yml"
    user             = "builder"
    ansible_env_vars = ["ANSIBLE_REMOTE_TEMP=/tmp/.ansible/"]
    extra_arguments  = ["--extra-vars", "role=node"]
  }
}

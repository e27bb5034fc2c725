iso_name     = "dummy.iso"
cpus         = 2
ssh_password = "pw-7Kq"

text
rootpw --plaintext ${root_password}
%{ for p in packages ~}
# package ${p}
%{ endfor ~}
reboot

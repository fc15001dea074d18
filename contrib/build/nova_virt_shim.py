# Installed by novadocker as nova/virt/novadocker/__init__.py, so that
# nova's "nova.virt.<compute_driver>" import finds the novadocker package.
from novadocker import _alias

_alias.install(__name__, 'novadocker')

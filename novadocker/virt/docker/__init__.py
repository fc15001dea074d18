"""Docker virt driver: ``compute_driver = novadocker.virt.docker.DockerDriver``."""

from novadocker.virt.docker import driver

DockerDriver = driver.DockerDriver

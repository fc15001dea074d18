"""Docker virt driver: ``novadocker.virt.docker.DockerDriver``."""

from novadocker.virt.docker import driver

DockerDriver = driver.DockerDriver

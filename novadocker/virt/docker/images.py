"""Which local Docker image a Glance image boots."""

from oslo_log import log as logging

from novadocker.virt.docker import exception

LOG = logging.getLogger(__name__)

# Images we load or commit are tagged <REPOSITORY>:<glance image id>, so a
# Glance image is found by its id, never by a name that may have changed.
REPOSITORY = 'nova-image'


def image_ref(image_id):
    return '%s:%s' % (REPOSITORY, image_id)


def candidates(image_meta):
    """Local references to try for ``image_meta``, best first."""
    refs = [image_ref(image_meta.id)]
    name = image_meta.obj_attr_is_set('name') and image_meta.name
    if name:
        refs.append(name)
        if name.lower() != name:
            refs.append(name.lower())
    return refs


class ImageStore(object):
    def __init__(self, client):
        self._client = client

    def find(self, image_meta):
        """The local reference for ``image_meta``, or None."""
        for ref in candidates(image_meta):
            try:
                self._client.inspect_image(ref)
            except exception.DockerNotFound:
                continue
            return ref
        return None

    def ensure(self, context, instance, image_meta):
        """A local reference that boots ``image_meta``."""
        ref = self.find(image_meta)
        if ref is None:
            raise exception.DockerNotFound(
                what='image %s' % image_meta.id,
                reason='no local image named %s' % ' or '.join(
                    candidates(image_meta)))
        LOG.debug('Booting Docker image %s', ref, instance=instance)
        return ref

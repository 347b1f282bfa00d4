# An application image on the runtime image, in two stages, without the s2i CLI:
#
#   podman build -f images/Containerfile.app -t myapp ./myapp
#   (--build-arg BUILDER_IMAGE=... RUNTIME_IMAGE=... for another version or registry)
#
# Stage 1 runs assemble in the builder image, as s2i does; stage 2 copies the built
# /opt/app-root (virtualenv with its bytecode, source, static files, build record) onto the
# runtime image, which has the interpreter, Apache and nss_wrapper but no compilers. Both images
# must be of the same Python version. Copy this file into your repository to use it there.
ARG BUILDER_IMAGE=localhost/python-s2i:3.11
ARG RUNTIME_IMAGE=localhost/python-s2i:3.11-runtime

FROM ${BUILDER_IMAGE} AS build
COPY --chown=1001:0 . /tmp/src
# .git is left out as s2i leaves it out (its history, and any token in .git/config, never reach
# the application image; this stage is not part of it). A .containerignore in your repository
# keeps it out of the build context too.
RUN find /tmp/src -depth -name .git -exec rm -rf {} + && /usr/libexec/s2i/assemble

FROM ${RUNTIME_IMAGE}
COPY --from=build --chown=1001:0 /opt/app-root /opt/app-root
RUN /usr/libexec/s2i/assemble-runtime
WORKDIR /opt/app-root/src
CMD ["/usr/libexec/s2i/run"]

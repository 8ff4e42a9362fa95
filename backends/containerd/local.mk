# containerd backend (backends/containerd): the containerd.so module.
#
# containerd's gRPC messages come from the .proto files vendored under proto/ (trimmed
# copies of containerd 1.6's api/ and Google's well-known types); protoc-c turns them
# into C in the build tree before anything is compiled (BUILT_SOURCES), so a tarball
# needs protoc-c to build this module, like a checkout does.
CTRD_PROTO_DIR = backends/containerd/proto
CTRD_PROTOS = \
	google/protobuf/any.proto \
	google/protobuf/field_mask.proto \
	google/protobuf/timestamp.proto \
	containerd/types/descriptor.proto \
	containerd/types/mount.proto \
	containerd/types/task.proto \
	containerd/services/containers.proto \
	containerd/services/content.proto \
	containerd/services/events.proto \
	containerd/services/images.proto \
	containerd/services/snapshots.proto \
	containerd/services/tasks.proto \
	containerd/services/version.proto \
	containerd/events/container.proto \
	containerd/events/task.proto
# automake needs the generated names spelled out to compile them
CTRD_PB_C = \
	backends/containerd/proto/google/protobuf/any.pb-c.c \
	backends/containerd/proto/google/protobuf/field_mask.pb-c.c \
	backends/containerd/proto/google/protobuf/timestamp.pb-c.c \
	backends/containerd/proto/containerd/types/descriptor.pb-c.c \
	backends/containerd/proto/containerd/types/mount.pb-c.c \
	backends/containerd/proto/containerd/types/task.pb-c.c \
	backends/containerd/proto/containerd/services/containers.pb-c.c \
	backends/containerd/proto/containerd/services/content.pb-c.c \
	backends/containerd/proto/containerd/services/events.pb-c.c \
	backends/containerd/proto/containerd/services/images.pb-c.c \
	backends/containerd/proto/containerd/services/snapshots.pb-c.c \
	backends/containerd/proto/containerd/services/tasks.pb-c.c \
	backends/containerd/proto/containerd/services/version.pb-c.c \
	backends/containerd/proto/containerd/events/container.pb-c.c \
	backends/containerd/proto/containerd/events/task.pb-c.c
CTRD_PB_H = \
	backends/containerd/proto/google/protobuf/any.pb-c.h \
	backends/containerd/proto/google/protobuf/field_mask.pb-c.h \
	backends/containerd/proto/google/protobuf/timestamp.pb-c.h \
	backends/containerd/proto/containerd/types/descriptor.pb-c.h \
	backends/containerd/proto/containerd/types/mount.pb-c.h \
	backends/containerd/proto/containerd/types/task.pb-c.h \
	backends/containerd/proto/containerd/services/containers.pb-c.h \
	backends/containerd/proto/containerd/services/content.pb-c.h \
	backends/containerd/proto/containerd/services/events.pb-c.h \
	backends/containerd/proto/containerd/services/images.pb-c.h \
	backends/containerd/proto/containerd/services/snapshots.pb-c.h \
	backends/containerd/proto/containerd/services/tasks.pb-c.h \
	backends/containerd/proto/containerd/services/version.pb-c.h \
	backends/containerd/proto/containerd/events/container.pb-c.h \
	backends/containerd/proto/containerd/events/task.pb-c.h
CTRD_PROTO_FILES = \
	backends/containerd/proto/google/protobuf/any.proto \
	backends/containerd/proto/google/protobuf/field_mask.proto \
	backends/containerd/proto/google/protobuf/timestamp.proto \
	backends/containerd/proto/containerd/types/descriptor.proto \
	backends/containerd/proto/containerd/types/mount.proto \
	backends/containerd/proto/containerd/types/task.proto \
	backends/containerd/proto/containerd/services/containers.proto \
	backends/containerd/proto/containerd/services/content.proto \
	backends/containerd/proto/containerd/services/events.proto \
	backends/containerd/proto/containerd/services/images.proto \
	backends/containerd/proto/containerd/services/snapshots.proto \
	backends/containerd/proto/containerd/services/tasks.proto \
	backends/containerd/proto/containerd/services/version.proto \
	backends/containerd/proto/containerd/events/container.proto \
	backends/containerd/proto/containerd/events/task.proto

EXTRA_DIST += \
	backends/containerd/README.md \
	backends/containerd/proto/README.md \
	$(CTRD_PROTO_FILES)

if BUILD_CONTAINERD
pkglib_LTLIBRARIES += backends/containerd/containerd.la
backends_containerd_containerd_la_SOURCES = \
	backends/containerd/ctrd.h \
	backends/containerd/ctrd.c \
	backends/containerd/ctrd_grpc.h \
	backends/containerd/ctrd_grpc.c \
	backends/containerd/ctrd_image.c \
	backends/containerd/ctrd_spec.c \
	backends/containerd/ctrd_ops.c \
	backends/containerd/ctrd_info.c \
	backends/containerd/ctrd_events.c
nodist_backends_containerd_containerd_la_SOURCES = $(CTRD_PB_C) $(CTRD_PB_H)
backends_containerd_containerd_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(builddir)/$(CTRD_PROTO_DIR)
backends_containerd_containerd_la_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS) \
	$(CONTAINERD_DEPS_CFLAGS) $(LIBGCRYPT_CFLAGS)
backends_containerd_containerd_la_LDFLAGS = $(BERTH_MODULE_FLAGS)
backends_containerd_containerd_la_LIBADD = $(JSONC_LIBS) $(CONTAINERD_DEPS_LIBS) \
	$(LIBGCRYPT_LIBS)
BUILT_SOURCES += $(CTRD_PB_C) $(CTRD_PB_H)
CLEANFILES += $(CTRD_PB_C) $(CTRD_PB_H) $(CTRD_PROTO_DIR)/.generated

# One protoc-c run writes every .pb-c.c/.h; the stamp orders it before the compiles.
$(CTRD_PB_C) $(CTRD_PB_H): $(CTRD_PROTO_DIR)/.generated
	@test -f $@ || { rm -f $(CTRD_PROTO_DIR)/.generated; \
	  $(MAKE) $(AM_MAKEFLAGS) $(CTRD_PROTO_DIR)/.generated; }
$(CTRD_PROTO_DIR)/.generated: $(CTRD_PROTO_FILES:%=$(srcdir)/%)
	$(AM_V_GEN)$(MKDIR_P) $(CTRD_PROTO_DIR) && \
	$(PROTOC_C) --proto_path=$(srcdir)/$(CTRD_PROTO_DIR) --c_out=$(CTRD_PROTO_DIR) \
	  $(CTRD_PROTOS) && touch $@
endif

{{/*
Names. The prefix is the release name, with the chart name appended unless
the release name already contains it; cut to 40 characters so that every
suffix below still fits the 63 characters of a label value.
*/}}
{{- define "nscale.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 40 | trimSuffix "-" }}
{{- end }}

{{- define "nscale.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "nscale.controlPlane.fullname" -}}{{ include "nscale.fullname" . }}-controlplane{{- end }}
{{- define "nscale.agent.fullname" -}}{{ include "nscale.fullname" . }}-agent{{- end }}
{{- define "nscale.sidecar.fullname" -}}{{ include "nscale.fullname" . }}-sidecar{{- end }}
{{- define "nscale.sidecar.namespace" -}}{{ default .Release.Namespace .Values.sidecar.namespace }}{{- end }}

{{/* Labels of every object. */}}
{{- define "nscale.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "nscale.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: nscale
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Selector labels of one component (controlplane, agent). */}}
{{- define "nscale.selectorLabels" -}}
app.kubernetes.io/name: {{ include "nscale.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* An image: <registry>/<name>:<tag>; the agent's tag may be pinned apart (agent.imageTag). */}}
{{- define "nscale.image" -}}
{{- $tag := default .root.Chart.AppVersion .root.Values.image.tag }}
{{- if eq .name "nscale-agent" }}
{{- $tag = default $tag .root.Values.agent.imageTag }}
{{- end }}
{{- printf "%s/%s:%s" (trimSuffix "/" .root.Values.image.registry) .name $tag }}
{{- end }}

{{/* The agents' and the sidecars' service accounts, as namespace/name. */}}
{{- define "nscale.agent.serviceAccount" -}}{{ include "nscale.agent.fullname" . }}{{- end }}

{{- define "nscale.allowedServiceAccounts" -}}
{{- $list := list }}
{{- if .Values.agent.enabled }}
{{- $list = append $list (printf "%s/%s" .Release.Namespace (include "nscale.agent.serviceAccount" .)) }}
{{- end }}
{{- if .Values.sidecar.enabled }}
{{- $list = append $list (printf "%s/%s" (include "nscale.sidecar.namespace" .) .Values.sidecar.serviceAccount) }}
{{- end }}
{{- range .Values.controlPlane.enrolment.extraAllowedServiceAccounts }}
{{- $list = append $list . }}
{{- end }}
{{- toJson ($list | uniq) }}
{{- end }}

{{/* Where agents dial the control plane's agent API. */}}
{{- define "nscale.agent.controlPlaneAddress" -}}
{{- if .Values.agent.controlPlane.address }}
{{- .Values.agent.controlPlane.address }}
{{- else if .Values.controlPlane.enabled }}
{{- printf "%s.%s.svc:%d" (include "nscale.controlPlane.fullname" .) .Release.Namespace (int .Values.controlPlane.service.agentApiPort) }}
{{- else }}
{{- fail "agent.controlPlane.address is required when controlPlane.enabled is false: the host:port of the control plane's agent API" }}
{{- end }}
{{- end }}

{{/*
The hardening every nscale container gets: no root, no privilege
escalation, no capabilities, a read-only root filesystem, the runtime's
default seccomp profile. The images run as 65532:65532.
*/}}
{{- define "nscale.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Pod-level security context; fsGroup makes mounted Secrets, tokens and emptyDirs readable by 65532. */}}
{{- define "nscale.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/*
The agent's configuration file (agent/config.go, decoded strictly). mode is
"daemonset" or "sidecar": the sidecar has no unix socket and no eBPF guard.
*/}}
{{- define "nscale.agent.config" -}}
{{- $v := .root.Values.agent }}
{{- $sidecar := eq .mode "sidecar" -}}
# nscale-agent configuration, rendered by the nscale chart ({{ .mode }}).
# The node name comes from the downward API (--node-name $(NODE_NAME)).
flight:
  # Loopback only: reachable from the agent's own network namespace.
  listen: {{ printf "127.0.0.1:%d" (int $v.flight.port) | quote }}
  {{- if and (not $sidecar) $v.socket.enabled }}
  socket: /run/nscale/agent.sock
  socket_mode: {{ $v.socket.mode | quote }}
  {{- else }}
  socket: ""
  {{- end }}
  max_streams: {{ int $v.flight.maxStreams }}
  max_streams_per_user: {{ int $v.flight.maxStreamsPerUser }}
  memory_budget: {{ int64 (ternary .root.Values.sidecar.memoryBudget $v.flight.memoryBudget $sidecar) }}
  allowed_uids: {{ toJson $v.allowedUIDs }}
control_plane:
  address: {{ include "nscale.agent.controlPlaneAddress" .root | quote }}
  tls:
    ca_file: /etc/nscale/control-plane-ca/ca.crt
    server_name: {{ $v.controlPlane.serverName | quote }}
  enrolment:
    method: kubernetes
    kubernetes_token_file: /var/run/secrets/nscale/token
    # An emptyDir of the pod: a restarted container reuses its certificate
    # (the pod's token enrols one agent while that certificate lives).
    state_dir: /var/lib/nscale
ebpf:
  {{- if and (not $sidecar) $v.ebpf.enabled }}
  pin_dir: /sys/fs/bpf/nscale
  {{- else }}
  pin_dir: ""
  {{- end }}
ops:
  # Not loopback: the kubelet's probes and Prometheus reach the pod's IP.
  listen: {{ printf "0.0.0.0:%d" (int $v.opsPort) | quote }}
shutdown_timeout: {{ $v.shutdownTimeout | quote }}
log:
  level: {{ $v.log.level | quote }}
  format: {{ $v.log.format | quote }}
{{- end }}

{{/* Checks of combinations the schema cannot express; each names the values at fault. */}}
{{- define "nscale.validate" -}}
{{- if and .Values.agent.ebpf.enabled (not .Values.agent.enabled) }}
{{- fail "agent.ebpf.enabled needs agent.enabled: the eBPF guard is installed by the DaemonSet's init container" }}
{{- end }}
{{- if and .Values.agent.ebpf.enabled (empty .Values.agent.allowedUIDs) }}
{{- fail "agent.ebpf.enabled needs agent.allowedUIDs: the eBPF guard lets only those uids connect to the agent's port, and an empty list would let none" }}
{{- end }}
{{- if and .Values.agent.enabled (not .Values.agent.socket.enabled) (not .Values.agent.hostNetwork) }}
{{- fail "agent.socket.enabled is false and agent.hostNetwork is false: no pod but the agent's own could reach the DaemonSet agent" }}
{{- end }}
{{- if .Values.controlPlane.enabled }}
{{- if and .Values.controlPlane.api.insecure .Values.controlPlane.api.tlsSecret }}
{{- fail "controlPlane.api.insecure is true and controlPlane.api.tlsSecret is set: choose one (set tlsSecret to \"\" for plaintext behind a TLS-terminating proxy)" }}
{{- end }}
{{- if and (not .Values.controlPlane.api.insecure) (not .Values.controlPlane.api.tlsSecret) }}
{{- fail "controlPlane.api.tlsSecret is empty and controlPlane.api.insecure is false: the REST API listens on the pod network and needs TLS (or insecure: true behind a TLS-terminating proxy you trust)" }}
{{- end }}
{{- if and .Values.controlPlane.autoscaling.enabled (gt (int .Values.controlPlane.autoscaling.minReplicas) (int .Values.controlPlane.autoscaling.maxReplicas)) }}
{{- fail "controlPlane.autoscaling.minReplicas is larger than controlPlane.autoscaling.maxReplicas" }}
{{- end }}
{{- if eq (include "nscale.allowedServiceAccounts" .) "[]" }}
{{- fail "no service account may enrol: enable agent or sidecar, or list controlPlane.enrolment.extraAllowedServiceAccounts" }}
{{- end }}
{{- end }}
{{- $ports := list (int .Values.agent.flight.port) (int .Values.agent.opsPort) }}
{{- if eq (index $ports 0) (index $ports 1) }}
{{- fail "agent.flight.port and agent.opsPort are the same port" }}
{{- end }}
{{- end }}

{{/* The control plane's configuration file (controlplane/config.go, decoded strictly). */}}
{{- define "nscale.controlPlane.config" -}}
{{- $v := .Values.controlPlane }}
{{- $svc := include "nscale.controlPlane.fullname" . }}
{{- $ns := .Release.Namespace -}}
# nscale-controlplane configuration, rendered by the nscale chart. Secrets
# are files of mounted Secrets; none is in this file.
api:
  listen: {{ printf "0.0.0.0:%d" (int $v.service.apiPort) | quote }}
  admin_token_file: /etc/nscale/keys/admin.token
  {{- if $v.api.tlsSecret }}
  tls:
    cert_file: /etc/nscale/tls/api/tls.crt
    key_file: /etc/nscale/tls/api/tls.key
  {{- end }}
  insecure: {{ $v.api.insecure }}
ops:
  # Not loopback: the kubelet's probes and Prometheus reach the pod's IP.
  listen: {{ printf "0.0.0.0:%d" (int $v.service.opsPort) | quote }}
store:
  dialect: {{ $v.store.dialect | quote }}
  dsn_file: /etc/nscale/store/dsn
  connect_timeout: {{ $v.store.connectTimeout | quote }}
  max_open_conns: {{ int $v.store.maxOpenConns }}
local_files:
  # No file:// tables in a cluster: tables live on S3.
  root: ""
s3:
  region: {{ $v.s3.region | quote }}
  endpoint: {{ $v.s3.endpoint | quote }}
  path_style: {{ $v.s3.pathStyle }}
  {{- if $v.s3.credentialsSecret }}
  credentials_file: /etc/nscale/s3/credentials.yaml
  {{- else }}
  credentials_file: ""
  {{- end }}
  max_url_ttl: {{ $v.s3.maxUrlTtl | quote }}
agent_api:
  listen: {{ printf "0.0.0.0:%d" (int $v.service.agentApiPort) | quote }}
  {{- if $v.agentApi.tlsSecret }}
  tls:
    cert_file: /etc/nscale/tls/agent-api/tls.crt
    key_file: /etc/nscale/tls/agent-api/tls.key
  {{- end }}
  # The names agents dial: the Service's.
  server_names: {{ toJson (concat (list $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.cluster.local" $svc $ns)) $v.agentApi.extraServerNames) }}
agent_ca:
  key_file: /etc/nscale/keys/agent-ca.key
  cert_file: /etc/nscale/keys/agent-ca.crt
  cert_ttl: {{ $v.agentCertTtl | quote }}
enrolment:
  kubernetes:
    audience: {{ $v.enrolment.audience | quote }}
    allowed_service_accounts: {{ include "nscale.allowedServiceAccounts" . }}
    # Empty: the in-cluster config of the control plane's service account.
    kubeconfig: ""
planner:
  signing_key_file: /etc/nscale/keys/signing.key
  sealing_key_file: /etc/nscale/keys/sealing.key
masking:
  key_file: /etc/nscale/keys/masking.key
shutdown_timeout: {{ $v.shutdownTimeout | quote }}
log:
  level: {{ $v.log.level | quote }}
  format: {{ $v.log.format | quote }}
{{- end }}

{{/* The release's object names: <release>-sms-pipeline, or the release name if it already says so. */}}
{{- define "sms.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "sms.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "sms.selector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "sms.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag }}
{{- end -}}

{{/* The database URL from its Secret: every process, the migrations too. */}}
{{- define "sms.databaseEnv" -}}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ required "database.existingSecret: the Secret holding DATABASE_URL" .Values.database.existingSecret }}
      key: {{ .Values.database.key }}
- name: NODE_ENV
  value: production
- name: LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
{{- end -}}

{{/* What the API and the workers read (config/config.ts): Temporal, Vault AppRole, carriers, extra settings. */}}
{{- define "sms.appEnv" -}}
{{ include "sms.appEnvWith" (dict "root" . "approle" .Values.vault.approle) }}
{{- end -}}

{{/*
The same with the AppRole credentials of another Secret: `root` is the chart's context, `approle` a
block like vault.approle (the codec server logs in as its own identity, codec-server).
*/}}
{{- define "sms.appEnvWith" -}}
{{- $root := .root -}}
{{- $approle := .approle -}}
{{ include "sms.databaseEnv" $root }}
- name: DATABASE_POOL_SIZE
  value: {{ $root.Values.database.poolSize | quote }}
- name: TEMPORAL_ADDRESS
  value: {{ required "temporal.address: the Temporal frontend, host:port" $root.Values.temporal.address | quote }}
- name: TEMPORAL_NAMESPACE
  value: {{ $root.Values.temporal.namespace | quote }}
- name: TASK_QUEUE_PREFIX
  value: {{ $root.Values.taskQueuePrefix | quote }}
{{- with $root.Values.temporal.tls }}
{{- if .enabled }}
- name: TEMPORAL_TLS
  value: "true"
{{- if .clientCert }}
- name: TEMPORAL_TLS_CERT
  value: /etc/sms/temporal-tls/tls.crt
- name: TEMPORAL_TLS_KEY
  value: /etc/sms/temporal-tls/tls.key
{{- end }}
{{- if .ca }}
- name: TEMPORAL_TLS_CA
  value: /etc/sms/temporal-tls/ca.crt
{{- end }}
{{- if .serverName }}
- name: TEMPORAL_TLS_SERVER_NAME
  value: {{ .serverName | quote }}
{{- end }}
{{- end }}
{{- end }}
{{- if $root.Values.temporal.apiKey.existingSecret }}
- name: TEMPORAL_API_KEY_FILE
  value: /etc/sms/temporal-api-key/api-key
{{- end }}
- name: VAULT_ADDR
  value: {{ required "vault.addr: Vault's (OpenBao's) URL" $root.Values.vault.addr | quote }}
- name: VAULT_TRANSIT_MOUNT
  value: {{ $root.Values.vault.transitMount | quote }}
- name: VAULT_ROLE_ID
  valueFrom:
    secretKeyRef:
      name: {{ required "vault.approle.existingSecret: the Secret holding the AppRole credentials" $approle.existingSecret }}
      key: {{ $approle.roleIdKey }}
- name: VAULT_SECRET_ID
  valueFrom:
    secretKeyRef:
      name: {{ $approle.existingSecret }}
      key: {{ $approle.secretIdKey }}
- name: CARRIERS
  valueFrom:
    secretKeyRef:
      name: {{ required "carriers.existingSecret: the Secret holding CARRIERS (JSON)" $root.Values.carriers.existingSecret }}
      key: {{ $root.Values.carriers.key }}
{{- range $name, $value := $root.Values.extraEnv }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
{{- end -}}

{{/* Volumes every app pod has: a writable /tmp (the root filesystem is read-only), the Temporal TLS files and API key. */}}
{{- define "sms.volumes" -}}
- name: tmp
  emptyDir: {}
{{- if and .Values.temporal.tls.enabled .Values.temporal.tls.existingSecret }}
- name: temporal-tls
  secret:
    secretName: {{ .Values.temporal.tls.existingSecret }}
{{- end }}
{{- with .Values.temporal.apiKey }}
{{- if .existingSecret }}
- name: temporal-api-key
  secret:
    secretName: {{ .existingSecret }}
    items:
      - key: {{ .key }}
        path: api-key
{{- end }}
{{- end }}
{{- end -}}

{{- define "sms.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- if and .Values.temporal.tls.enabled .Values.temporal.tls.existingSecret }}
- name: temporal-tls
  mountPath: /etc/sms/temporal-tls
  readOnly: true
{{- end }}
{{- if .Values.temporal.apiKey.existingSecret }}
- name: temporal-api-key
  mountPath: /etc/sms/temporal-api-key
  readOnly: true
{{- end }}
{{- end -}}

{{- define "sms.podSpecCommon" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- end -}}

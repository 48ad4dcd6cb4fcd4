{{/*
Helpers shared by the templates. Every define is namespaced "cir.".
*/}}

{{/* The chart name, or nameOverride. */}}
{{- define "cir.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The prefix of every object name: fullnameOverride, else "<release>-<chart>" (just the release name
when it already contains the chart name). At most 63 characters, minus room for the suffixes the
chart adds ("-headless", "-kafka-sasl", "-<ordinal>" of a pod).
*/}}
{{- define "cir.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* "name-version" for the helm.sh/chart label. */}}
{{- define "cir.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The labels that select this release's pods: stable, never the version. */}}
{{- define "cir.selectorLabels" -}}
app.kubernetes.io/name: {{ include "cir.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The recommended labels of every object, plus commonLabels. */}}
{{- define "cir.labels" -}}
{{- $labels := dict
  "helm.sh/chart" (include "cir.chart" .)
  "app.kubernetes.io/name" (include "cir.name" .)
  "app.kubernetes.io/instance" .Release.Name
  "app.kubernetes.io/version" (.Values.image.tag | default .Chart.AppVersion | toString | replace "+" "_" | trunc 63)
  "app.kubernetes.io/managed-by" .Release.Service
  "app.kubernetes.io/part-of" "cir" -}}
{{- toYaml (merge $labels .Values.commonLabels) -}}
{{- end -}}

{{/*
The metadata.annotations block of a top-level object: commonAnnotations with .extra merged over
them; nothing when both are empty. Starts with a newline and is indented for metadata (2 spaces).
*/}}
{{- define "cir.annotations" -}}
{{- $annotations := merge (dict) (.extra | default dict) (.context.Values.commonAnnotations | default dict) -}}
{{- if $annotations }}
  annotations:
    {{- toYaml $annotations | nindent 4 }}
{{- end -}}
{{- end -}}

{{/* Names of the objects the chart creates. */}}
{{- define "cir.headlessServiceName" -}}
{{- printf "%s-headless" (include "cir.fullname" .) -}}
{{- end -}}

{{- define "cir.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "cir.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* An image reference from {registry, repository, tag, digest}; global.imageRegistry wins. */}}
{{- define "cir.imageRef" -}}
{{- $image := .image -}}
{{- $registry := .global.imageRegistry | default $image.registry -}}
{{- $ref := printf ":%s" ($image.tag | default .default | toString) -}}
{{- if $image.digest -}}
{{- $ref = printf "@%s" $image.digest -}}
{{- end -}}
{{- if $registry -}}
{{- printf "%s/%s%s" $registry $image.repository $ref -}}
{{- else -}}
{{- printf "%s%s" $image.repository $ref -}}
{{- end -}}
{{- end -}}

{{- define "cir.image" -}}
{{- include "cir.imageRef" (dict "image" .Values.image "global" .Values.global "default" .Chart.AppVersion) -}}
{{- end -}}

{{- define "cir.testImage" -}}
{{- include "cir.imageRef" (dict "image" .Values.tests.image "global" .Values.global "default" "latest") -}}
{{- end -}}

{{/* imagePullSecrets of the pods (global ones first, then the image's); empty when none. */}}
{{- define "cir.imagePullSecrets" -}}
{{- $secrets := concat .Values.global.imagePullSecrets .Values.image.pullSecrets | uniq -}}
{{- if $secrets -}}
imagePullSecrets:
{{- range $secrets }}
  - name: {{ . | quote }}
{{- end }}
{{- end -}}
{{- end -}}

{{/*
A securityContext from its values: without the chart's "enabled" switch and without empty maps,
lists and strings (false and 0 are kept).
*/}}
{{- define "cir.securityContext" -}}
{{- $context := dict -}}
{{- range $key, $value := omit . "enabled" -}}
{{- if or (kindIs "bool" $value) (kindIs "float64" $value) (kindIs "int64" $value) (kindIs "int" $value) $value -}}
{{- $_ := set $context $key $value -}}
{{- end -}}
{{- end -}}
{{- toYaml $context -}}
{{- end -}}

{{/* Renders a value that may contain templates (a string or a structure). */}}
{{- define "cir.tplvalues.render" -}}
{{- if typeIs "string" .value -}}
{{- tpl .value .context -}}
{{- else -}}
{{- tpl (.value | toYaml) .context -}}
{{- end -}}
{{- end -}}

{{/* Kafka security: "true" (non-empty) when SASL is used. */}}
{{- define "cir.kafka.sasl" -}}
{{- if has .Values.kafka.securityProtocol (list "SASL_PLAINTEXT" "SASL_SSL") -}}true{{- end -}}
{{- end -}}

{{/* Name of the Secret with the SASL credentials (the chart's or kafka.sasl.existingSecret). */}}
{{- define "cir.kafka.saslSecretName" -}}
{{- default (printf "%s-kafka-sasl" (include "cir.fullname" .)) .Values.kafka.sasl.existingSecret -}}
{{- end -}}

{{/* "true" when a CA certificate for the brokers is mounted. */}}
{{- define "cir.kafka.ca" -}}
{{- if or .Values.kafka.tls.caCert .Values.kafka.tls.existingSecret -}}true{{- end -}}
{{- end -}}

{{- define "cir.kafka.caSecretName" -}}
{{- default (printf "%s-kafka-ca" (include "cir.fullname" .)) .Values.kafka.tls.existingSecret -}}
{{- end -}}

{{- define "cir.kafka.caSecretKey" -}}
{{- ternary .Values.kafka.tls.existingSecretCAKey "ca.crt" (ne .Values.kafka.tls.existingSecret "") -}}
{{- end -}}

{{/* The API token's Secret (created by the chart, or api.existingSecret), and its key. */}}
{{- define "cir.api.secretName" -}}
{{- default (printf "%s-api" (include "cir.fullname" .)) .Values.api.existingSecret -}}
{{- end -}}

{{- define "cir.api.secretKey" -}}
{{- ternary .Values.api.existingSecretKey "token" (ne .Values.api.existingSecret "") -}}
{{- end -}}

{{- define "cir.kafka.caDir" -}}/etc/cir/kafka-ca{{- end -}}

{{/*
CIRD_KAFKA_PROPERTIES: security.protocol, sasl.mechanism, ssl.ca.location and session.timeout.ms
from the kafka.* keys, then kafka.properties sorted by key; ';'-separated KEY=VALUE. Whole numbers are printed as
such (YAML numbers reach templates as floats).
*/}}
{{- define "cir.kafka.properties" -}}
{{- $props := list (printf "security.protocol=%s" .Values.kafka.securityProtocol) -}}
{{- if include "cir.kafka.sasl" . -}}
{{- $props = append $props (printf "sasl.mechanism=%s" .Values.kafka.sasl.mechanism) -}}
{{- end -}}
{{- if include "cir.kafka.ca" . -}}
{{- $props = append $props (printf "ssl.ca.location=%s/ca.crt" (include "cir.kafka.caDir" .)) -}}
{{- end -}}
{{- $props = append $props (printf "session.timeout.ms=%d" (.Values.kafka.sessionTimeoutMs | int64)) -}}
{{- range $key := keys .Values.kafka.properties | sortAlpha -}}
{{- $value := get $.Values.kafka.properties $key -}}
{{- if kindIs "float64" $value -}}
{{- $value = $value | int64 -}}
{{- end -}}
{{- $props = append $props (printf "%s=%v" $key $value) -}}
{{- end -}}
{{- join ";" $props -}}
{{- end -}}

{{/* CIR_STALL_LIMITS: "step=duration,…" sorted by step. */}}
{{- define "cir.stallLimits" -}}
{{- $limits := list -}}
{{- range $step := keys .Values.config.stallLimits | sortAlpha -}}
{{- $limits = append $limits (printf "%s=%v" $step (get $.Values.config.stallLimits $step)) -}}
{{- end -}}
{{- join "," $limits -}}
{{- end -}}

{{/*
Checks across values that the schema cannot express; a failure stops install, upgrade, lint and
template with a message naming the value.
*/}}
{{- define "cir.validate" -}}
{{- $grace := int .Values.config.shutdownGraceSeconds -}}
{{- if lt (int .Values.terminationGracePeriodSeconds) (add $grace 10) -}}
{{- fail (printf "terminationGracePeriodSeconds (%d) must be at least config.shutdownGraceSeconds + 10 (%d): cird needs the grace to drain, then time to commit, leave the group and close the register" (int .Values.terminationGracePeriodSeconds) (add $grace 10)) -}}
{{- end -}}
{{- if include "cir.kafka.sasl" . -}}
{{- if and (not .Values.kafka.sasl.existingSecret) (or (not .Values.kafka.sasl.username) (not .Values.kafka.sasl.password)) -}}
{{- fail (printf "kafka.securityProtocol %s needs kafka.sasl.username and kafka.sasl.password, or kafka.sasl.existingSecret" .Values.kafka.securityProtocol) -}}
{{- end -}}
{{- else if or .Values.kafka.sasl.username .Values.kafka.sasl.password .Values.kafka.sasl.existingSecret -}}
{{- fail (printf "kafka.sasl.* is set but kafka.securityProtocol is %s: use SASL_PLAINTEXT or SASL_SSL" .Values.kafka.securityProtocol) -}}
{{- end -}}
{{- if and (include "cir.kafka.ca" .) (not (has .Values.kafka.securityProtocol (list "SSL" "SASL_SSL"))) -}}
{{- fail (printf "kafka.tls.* is set but kafka.securityProtocol is %s: use SSL or SASL_SSL" .Values.kafka.securityProtocol) -}}
{{- end -}}
{{- if and .Values.kafka.tls.caCert .Values.kafka.tls.existingSecret -}}
{{- fail "set kafka.tls.caCert or kafka.tls.existingSecret, not both" -}}
{{- end -}}
{{- if and .Values.pdb.create .Values.pdb.minAvailable .Values.pdb.maxUnavailable -}}
{{- fail "set pdb.minAvailable or pdb.maxUnavailable, not both" -}}
{{- end -}}
{{- end -}}

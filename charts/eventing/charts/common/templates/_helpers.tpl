{{/*
Shared helpers. Every template takes the component chart's root context (`.`), whose values follow
the layout of charts/eventing/charts/<component>/values.yaml.
*/}}

{{- define "common.name" -}}
{{- .Values.nameOverride | default .Chart.Name -}}
{{- end -}}

{{- define "common.labels" -}}
app.kubernetes.io/name: {{ include "common.name" . }}
app.kubernetes.io/component: {{ include "common.name" . }}
app.kubernetes.io/part-of: knative-eventing
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "common.selector" -}}
app.kubernetes.io/name: {{ include "common.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "common.metadata" -}}
name: {{ include "common.name" . }}
namespace: {{ .Release.Namespace }}
labels:
  {{- include "common.labels" . | nindent 2 }}
{{- end -}}

{{/* The image reference: <registry>/<repository>@<digest>, else <registry>/<repository>:<tag>. */}}
{{- define "common.image" -}}
{{- $g := (default dict (default dict .Values.global).image) -}}
{{- $registry := .Values.image.registry | default $g.registry -}}
{{- $repo := .Values.image.repository -}}
{{- $ref := ternary $repo (printf "%s/%s" $registry $repo) (empty $registry) -}}
{{- $digest := .Values.image.digest | default "" -}}
{{- if $digest -}}
{{- printf "%s@%s" $ref $digest -}}
{{- else -}}
{{- printf "%s:%s" $ref (.Values.image.tag | default $g.tag | default .Chart.AppVersion) -}}
{{- end -}}
{{- end -}}

{{- define "common.pullPolicy" -}}
{{- $g := (default dict (default dict .Values.global).image) -}}
{{- .Values.image.pullPolicy | default $g.pullPolicy | default "IfNotPresent" -}}
{{- end -}}

{{/* A setting's value as the environment carries it: integers never in exponent form. */}}
{{- define "common.envValue" -}}
{{- if kindIs "float64" . -}}{{ printf "%.0f" . }}{{- else -}}{{ toString . }}{{- end -}}
{{- end -}}

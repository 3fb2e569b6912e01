{{- define "component.image" -}}
{{- $g := default dict (default dict .Values.global).image -}}
{{- $repo := default $g.repository .Values.image.repository -}}
{{- $tag := default (default .Chart.AppVersion $g.tag) .Values.image.tag -}}
{{- printf "%s:%s" $repo $tag -}}
{{- end -}}

{{- define "component.pullPolicy" -}}
{{- $g := default dict (default dict .Values.global).image -}}
{{- default (default "IfNotPresent" $g.pullPolicy) .Values.image.pullPolicy -}}
{{- end -}}

{{- define "component.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/component: {{ .Chart.Name }}
app.kubernetes.io/part-of: knative-eventing
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{- define "component.selector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

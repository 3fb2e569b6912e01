{{/*
common.component renders one service: ServiceAccount, Deployment, Service, PodDisruptionBudget and,
when autoscaling.enabled, a HorizontalPodAutoscaler. A component chart's template is only:
  {{ include "common.component" . }}
Values read (see any component chart's values.yaml): enabled, replicas, image, port, probeScheme,
service, contract, kubeApi, podNameEnv, settings, extraEnv, resources, podDisruptionBudget, autoscaling,
podSecurityContext, securityContext, podAnnotations, nodeSelector, tolerations, affinity,
terminationGracePeriodSeconds.
*/}}
{{- define "common.component" -}}
{{- if .Values.enabled }}
{{- include "common.serviceAccount" . }}
{{- include "common.deployment" . }}
{{- include "common.service" . }}
{{- include "common.pdb" . }}
{{- include "common.hpa" . }}
{{- end }}
{{- end -}}

{{- define "common.serviceAccount" }}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  {{- include "common.metadata" . | nindent 2 }}
automountServiceAccountToken: {{ .Values.kubeApi | default false }}
{{- end }}

{{- define "common.deployment" }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  {{- include "common.metadata" . | nindent 2 }}
spec:
  {{- if not .Values.autoscaling.enabled }}
  replicas: {{ .Values.replicas }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "common.selector" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "common.labels" . | nindent 8 }}
      {{- with .Values.podAnnotations }}
      annotations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    spec:
      serviceAccountName: {{ include "common.name" . }}
      automountServiceAccountToken: {{ .Values.kubeApi | default false }}
      terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds | default 40 }}
      {{- with (default dict (default dict .Values.global).image).pullSecrets }}
      imagePullSecrets:
        {{- range . }}
        - name: {{ . }}
        {{- end }}
      {{- end }}
      securityContext:
        {{- toYaml .Values.podSecurityContext | nindent 8 }}
      containers:
        - name: {{ include "common.name" . }}
          image: {{ include "common.image" . | quote }}
          imagePullPolicy: {{ include "common.pullPolicy" . }}
          {{- with .Values.args }}
          args:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          env:
            - name: PORT
              value: {{ .Values.port | int | quote }}
            {{- if .Values.kubeApi }}
            - name: SYSTEM_NAMESPACE
              value: {{ .Release.Namespace | quote }}
            {{- end }}
            {{- if .Values.podNameEnv }}
            - name: POD_NAME
              valueFrom:
                fieldRef:
                  fieldPath: metadata.name
            {{- end }}
            {{- with .Values.contract }}
            - name: {{ .pathEnv }}
              value: {{ printf "%s/%s" .mountPath .key | quote }}
            {{- end }}
            {{- /* A setting may use the release, e.g. {{ .Release.Namespace }} (rendered with tpl). */}}
            {{- range $name, $value := .Values.settings }}
            {{- if ne (toString $value) "" }}
            - name: {{ $name }}
              value: {{ tpl (include "common.envValue" $value) $ | quote }}
            {{- end }}
            {{- end }}
            {{- with .Values.extraEnv }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          ports:
            - name: {{ lower (.Values.probeScheme | default "HTTP") }}
              containerPort: {{ .Values.port }}
              protocol: TCP
          startupProbe:
            httpGet:
              path: /healthz
              port: {{ .Values.port }}
              scheme: {{ .Values.probeScheme | default "HTTP" }}
            periodSeconds: 2
            failureThreshold: 30
          livenessProbe:
            httpGet:
              path: /healthz
              port: {{ .Values.port }}
              scheme: {{ .Values.probeScheme | default "HTTP" }}
            periodSeconds: 10
            failureThreshold: 3
          readinessProbe:
            httpGet:
              path: /readyz
              port: {{ .Values.port }}
              scheme: {{ .Values.probeScheme | default "HTTP" }}
            periodSeconds: 5
            failureThreshold: 2
          resources:
            {{- toYaml .Values.resources | nindent 12 }}
          securityContext:
            {{- toYaml .Values.securityContext | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
            {{- with .Values.contract }}
            - name: contract
              mountPath: {{ .mountPath }}
              readOnly: true
            {{- end }}
      volumes:
        - name: tmp
          emptyDir:
            sizeLimit: 64Mi
        {{- with .Values.contract }}
        - name: contract
          configMap:
            name: {{ .configMap }}
            # Written by the controller; until it is, the service waits (not ready) for the file.
            optional: true
            items:
              - key: {{ .key }}
                path: {{ .key }}
        {{- end }}
      {{- with .Values.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end }}

{{- define "common.service" }}
{{- if .Values.service }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ .Values.service.name }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "common.labels" . | nindent 4 }}
spec:
  type: ClusterIP
  selector:
    {{- include "common.selector" . | nindent 4 }}
  ports:
    - name: {{ lower (.Values.probeScheme | default "HTTP") }}
      port: {{ .Values.service.port }}
      targetPort: {{ .Values.port }}
      protocol: TCP
{{- end }}
{{- end }}

{{- define "common.pdb" }}
{{- if .Values.podDisruptionBudget.enabled }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  {{- include "common.metadata" . | nindent 2 }}
spec:
  {{- if hasKey .Values.podDisruptionBudget "minAvailable" }}
  minAvailable: {{ .Values.podDisruptionBudget.minAvailable }}
  {{- else }}
  maxUnavailable: {{ .Values.podDisruptionBudget.maxUnavailable | default 1 }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "common.selector" . | nindent 6 }}
{{- end }}
{{- end }}

{{- define "common.hpa" }}
{{- if .Values.autoscaling.enabled }}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  {{- include "common.metadata" . | nindent 2 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "common.name" . }}
  minReplicas: {{ .Values.autoscaling.minReplicas }}
  maxReplicas: {{ .Values.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ .Values.autoscaling.targetCPUUtilizationPercentage }}
{{- end }}
{{- end }}

{{/* RBAC: a Role (system namespace) and/or ClusterRole with their bindings to the component's account. */}}
{{- define "common.rbac" -}}
{{- $ctx := .ctx -}}
{{- if $ctx.Values.enabled }}
{{- with .rules }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  {{- include "common.metadata" $ctx | nindent 2 }}
rules:
  {{- toYaml . | nindent 2 }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  {{- include "common.metadata" $ctx | nindent 2 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: {{ include "common.name" $ctx }}
subjects:
  - kind: ServiceAccount
    name: {{ include "common.name" $ctx }}
    namespace: {{ $ctx.Release.Namespace }}
{{- end }}
{{- with .clusterRules }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: {{ printf "%s-%s" $ctx.Release.Namespace (include "common.name" $ctx) }}
  labels:
    {{- include "common.labels" $ctx | nindent 4 }}
rules:
  {{- toYaml . | nindent 2 }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: {{ printf "%s-%s" $ctx.Release.Namespace (include "common.name" $ctx) }}
  labels:
    {{- include "common.labels" $ctx | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: {{ printf "%s-%s" $ctx.Release.Namespace (include "common.name" $ctx) }}
subjects:
  - kind: ServiceAccount
    name: {{ include "common.name" $ctx }}
    namespace: {{ $ctx.Release.Namespace }}
{{- end }}
{{- end }}
{{- end -}}

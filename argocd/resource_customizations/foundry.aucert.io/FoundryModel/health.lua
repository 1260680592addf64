-- Argo CD health check for foundry.aucert.io/FoundryModel (Lua 5.1 / gopher-lua).
--   Healthy      Ready=True for the current generation (status.observedGeneration
--                and, when set, the Ready condition's observedGeneration equal
--                metadata.generation). The message is Ready's message, with a
--                Deprecated=True condition appended (the model still serves,
--                but retires soon).
--   Degraded     Ready=False for the current generation; message "Reason: message".
--   Progressing  no status yet, the controller has not seen this generation,
--                no Ready condition, or Ready=Unknown.
-- Install: docs/argocd.md (argocd-cm resource.customizations.health.foundry.aucert.io_FoundryModel).
local hs = {}

local function condition(conds, ctype)
  if conds == nil then return nil end
  for _, c in ipairs(conds) do
    if c.type == ctype then return c end
  end
  return nil
end

local function describe(c)
  local reason = c.reason or ""
  local message = c.message or ""
  if reason ~= "" and message ~= "" then return reason .. ": " .. message end
  if reason ~= "" then return reason end
  return message
end

local gen = nil
if obj.metadata ~= nil then gen = obj.metadata.generation end

if obj.status == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the controller to report status"
  return hs
end

local observed = obj.status.observedGeneration
if observed == nil or (gen ~= nil and observed ~= gen) then
  hs.status = "Progressing"
  hs.message = "Waiting for the controller to observe generation " .. tostring(gen) ..
    " (status is from generation " .. tostring(observed) .. ")"
  return hs
end

local ready = condition(obj.status.conditions, "Ready")
if ready == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the Ready condition"
  return hs
end

if ready.observedGeneration ~= nil and gen ~= nil and ready.observedGeneration ~= gen then
  hs.status = "Progressing"
  hs.message = "Waiting for the controller to observe generation " .. tostring(gen) ..
    " (Ready is from generation " .. tostring(ready.observedGeneration) .. ")"
  return hs
end

if ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message or ""
  if hs.message == "" then hs.message = ready.reason or "" end
  if hs.message == "" then hs.message = "Ready" end
  local dep = condition(obj.status.conditions, "Deprecated")
  if dep ~= nil and dep.status == "True" then
    hs.message = hs.message .. " (Deprecated: " .. describe(dep) .. ")"
  end
elseif ready.status == "False" then
  hs.status = "Degraded"
  hs.message = describe(ready)
else
  hs.status = "Progressing"
  hs.message = describe(ready)
  if hs.message == "" then hs.message = "Ready is Unknown" end
end
return hs

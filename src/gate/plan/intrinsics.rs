//! CloudFormation's intrinsic functions, evaluated where the values are known before deploy
//! (CloudFormation User Guide, "Intrinsic function reference"): `Ref` to a parameter (its
//! `--parameter` value, else its `Default`) or a pseudo parameter given on the command line,
//! `Fn::Sub`, `Fn::Join`, `Fn::Select`, `Fn::Split`, `Fn::FindInMap`, `Fn::If` with
//! `Fn::Equals`, `Fn::Not`, `Fn::And`, `Fn::Or` and `Condition`. What only a deploy knows —
//! `Fn::GetAtt`, `Fn::ImportValue`, a `Ref` to a resource, a pseudo parameter not given — is an
//! error naming it: the resource is then "not judged", with that reason.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// What a template's functions are evaluated with.
#[derive(Clone, Debug, Default)]
pub struct Context {
    /// Parameter (and pseudo parameter) values.
    pub values: BTreeMap<String, Value>,
    /// Parameters without a value: their names, for the message.
    pub unset: Vec<String>,
    /// The template's `Conditions`.
    pub conditions: Map<String, Value>,
    pub mappings: Value,
    /// Logical ids of the template's resources.
    pub resources: Vec<String>,
}

/// The marker `AWS::NoValue` resolves to (the property is removed).
const NO_VALUE: &str = "\u{0}AWS::NoValue";

impl Context {
    /// `v` with every intrinsic function evaluated.
    pub fn resolve(&self, v: &Value) -> Result<Value, String> {
        let resolved = self.eval(v)?;
        Ok(strip_no_value(resolved).unwrap_or(Value::Null))
    }

    fn eval(&self, v: &Value) -> Result<Value, String> {
        match v {
            Value::Array(a) => a
                .iter()
                .map(|x| self.eval(x))
                .collect::<Result<_, _>>()
                .map(Value::Array),
            Value::Object(o) if o.len() == 1 => {
                let (k, arg) = o.iter().next().unwrap();
                match k.as_str() {
                    "Ref" => self.reference(arg.as_str().unwrap_or("")),
                    "Fn::Sub" => self.sub(arg),
                    "Fn::Join" => self.join(arg),
                    "Fn::Select" => self.select(arg),
                    "Fn::Split" => self.split(arg),
                    "Fn::FindInMap" => self.find_in_map(arg),
                    "Fn::If" => self.if_(arg),
                    "Fn::GetAtt" => {
                        Err(format!("Fn::GetAtt {} is known only at deploy", flat(arg)))
                    }
                    k if k.starts_with("Fn::") || k == "Condition" => {
                        Err(format!("{k} {} is known only at deploy", flat(arg)))
                    }
                    _ => Ok(Value::Object(
                        [(k.clone(), self.eval(arg)?)].into_iter().collect(),
                    )),
                }
            }
            Value::Object(o) => o
                .iter()
                .map(|(k, x)| Ok((k.clone(), self.eval(x)?)))
                .collect::<Result<Map<_, _>, String>>()
                .map(Value::Object),
            other => Ok(other.clone()),
        }
    }

    fn reference(&self, name: &str) -> Result<Value, String> {
        if name == "AWS::NoValue" {
            return Ok(NO_VALUE.into());
        }
        if let Some(v) = self.values.get(name) {
            return Ok(v.clone());
        }
        if self.resources.iter().any(|r| r == name) {
            return Err(format!(
                "Ref {name} (a resource of the template) is known only at deploy"
            ));
        }
        if name.starts_with("AWS::") {
            return Err(format!("Ref {name}: pass --parameter {name}=VALUE"));
        }
        Err(format!(
            "Ref {name}: the parameter has no value and no default; pass --parameter {name}=VALUE"
        ))
    }

    fn text(&self, v: &Value) -> Result<String, String> {
        match self.eval(v)? {
            Value::String(s) => Ok(s),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            other => Err(format!("{} is not a string", flat(&other))),
        }
    }

    fn sub(&self, arg: &Value) -> Result<Value, String> {
        let (template, vars) = match arg {
            Value::String(s) => (s.clone(), Map::new()),
            Value::Array(a) if a.len() == 2 => (
                a[0].as_str().unwrap_or("").to_string(),
                a[1].as_object().cloned().unwrap_or_default(),
            ),
            other => return Err(format!("Fn::Sub {} is malformed", flat(other))),
        };
        let mut out = String::new();
        let mut rest = template.as_str();
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                return Err(format!("Fn::Sub {template:?}: an unclosed ${{"));
            };
            let name = &after[..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str(&format!("${{{literal}}}"));
            } else if let Some(v) = vars.get(name) {
                out.push_str(&self.text(v)?);
            } else if name.contains('.') {
                return Err(format!(
                    "Fn::Sub ${{{name}}} (an attribute) is known only at deploy"
                ));
            } else {
                out.push_str(
                    &self.text(&Value::Object(
                        [("Ref".to_string(), Value::String(name.to_string()))]
                            .into_iter()
                            .collect(),
                    ))?,
                );
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out.into())
    }

    fn join(&self, arg: &Value) -> Result<Value, String> {
        let a = arg
            .as_array()
            .filter(|a| a.len() == 2)
            .ok_or("Fn::Join is malformed")?;
        let sep = a[0].as_str().unwrap_or("");
        let list = self.eval(&a[1])?;
        let parts: Vec<String> = list
            .as_array()
            .ok_or("Fn::Join's second argument is not a list")?
            .iter()
            .map(|p| self.text(p))
            .collect::<Result<_, _>>()?;
        Ok(parts.join(sep).into())
    }

    fn select(&self, arg: &Value) -> Result<Value, String> {
        let a = arg
            .as_array()
            .filter(|a| a.len() == 2)
            .ok_or("Fn::Select is malformed")?;
        let i: usize = self
            .text(&a[0])?
            .parse()
            .map_err(|_| "Fn::Select's index is not a number")?;
        let list = self.eval(&a[1])?;
        list.as_array()
            .and_then(|l| l.get(i).cloned())
            .ok_or_else(|| format!("Fn::Select {i} is out of range"))
    }

    fn split(&self, arg: &Value) -> Result<Value, String> {
        let a = arg
            .as_array()
            .filter(|a| a.len() == 2)
            .ok_or("Fn::Split is malformed")?;
        let sep = a[0].as_str().unwrap_or(",");
        let s = self.text(&a[1])?;
        Ok(Value::Array(
            s.split(sep).map(|p| Value::String(p.into())).collect(),
        ))
    }

    fn find_in_map(&self, arg: &Value) -> Result<Value, String> {
        let a = arg
            .as_array()
            .filter(|a| a.len() == 3)
            .ok_or("Fn::FindInMap is malformed")?;
        let (m, k1, k2) = (self.text(&a[0])?, self.text(&a[1])?, self.text(&a[2])?);
        self.mappings
            .get(&m)
            .and_then(|x| x.get(&k1))
            .and_then(|x| x.get(&k2))
            .cloned()
            .ok_or_else(|| format!("Fn::FindInMap {m}/{k1}/{k2} is not in the template's Mappings"))
    }

    fn if_(&self, arg: &Value) -> Result<Value, String> {
        let a = arg
            .as_array()
            .filter(|a| a.len() == 3)
            .ok_or("Fn::If is malformed")?;
        let name = a[0].as_str().unwrap_or("");
        if self.condition(name)? {
            self.eval(&a[1])
        } else {
            self.eval(&a[2])
        }
    }

    /// The value of the condition `name`.
    pub fn condition(&self, name: &str) -> Result<bool, String> {
        let c = self
            .conditions
            .get(name)
            .ok_or_else(|| format!("condition {name} is not in the template"))?;
        self.truth(c)
    }

    fn truth(&self, c: &Value) -> Result<bool, String> {
        let o = c
            .as_object()
            .filter(|o| o.len() == 1)
            .ok_or_else(|| format!("condition {} is malformed", flat(c)))?;
        let (k, arg) = o.iter().next().unwrap();
        let list = || arg.as_array().cloned().unwrap_or_default();
        match k.as_str() {
            "Fn::Equals" => {
                let l = list();
                if l.len() != 2 {
                    return Err("Fn::Equals takes two values".into());
                }
                Ok(self.text(&l[0])? == self.text(&l[1])?)
            }
            "Fn::Not" => Ok(!self.truth(list().first().ok_or("Fn::Not takes one condition")?)?),
            "Fn::And" => list()
                .iter()
                .try_fold(true, |acc, x| Ok(acc && self.truth(x)?)),
            "Fn::Or" => list()
                .iter()
                .try_fold(false, |acc, x| Ok(acc || self.truth(x)?)),
            "Condition" => self.condition(arg.as_str().unwrap_or("")),
            other => Err(format!("{other} is not a condition function")),
        }
    }
}

fn strip_no_value(v: Value) -> Option<Value> {
    match v {
        Value::String(s) if s == NO_VALUE => None,
        Value::Array(a) => Some(Value::Array(
            a.into_iter().filter_map(strip_no_value).collect(),
        )),
        Value::Object(o) => Some(Value::Object(
            o.into_iter()
                .filter_map(|(k, x)| strip_no_value(x).map(|x| (k, x)))
                .collect(),
        )),
        other => Some(other),
    }
}

/// `a.b` for a GetAtt list, the JSON otherwise (for messages).
fn flat(v: &Value) -> String {
    match v {
        Value::Array(a) if a.iter().all(Value::is_string) => a
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join("."),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn context() -> Context {
        let mut c = Context {
            conditions: json!({"IsArm": {"Fn::Equals": [{"Ref": "Arch"}, "ARM64"]},
                               "NotArm": {"Fn::Not": [{"Condition": "IsArm"}]}})
            .as_object()
            .cloned()
            .unwrap(),
            mappings: json!({"Tags": {"prod": {"tag": "v2"}}}),
            resources: vec!["Repo".into()],
            ..Context::default()
        };
        c.values.insert("Arch".into(), "ARM64".into());
        c.values
            .insert("AWS::AccountId".into(), "123456789012".into());
        c.values.insert("AWS::Region".into(), "eu-west-1".into());
        c
    }

    #[test]
    fn known_values_are_evaluated() {
        let c = context();
        let v = json!({"Image": {"Fn::Sub": "${AWS::AccountId}.dkr.ecr.${AWS::Region}.amazonaws.com/web:${T}"},
                       "Cpu": {"Fn::If": ["IsArm", "ARM64", "X86_64"]},
                       "Other": {"Fn::If": ["NotArm", "x", {"Ref": "AWS::NoValue"}]},
                       "Tag": {"Fn::FindInMap": ["Tags", "prod", "tag"]},
                       "J": {"Fn::Join": ["-", ["a", {"Fn::Select": [1, {"Fn::Split": [",", "x,y"]}]}]]}});
        let mut c2 = c.clone();
        c2.values.insert("T".into(), "1".into());
        let r = c2.resolve(&v).unwrap();
        assert_eq!(
            r["Image"],
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web:1"
        );
        assert_eq!(r["Cpu"], "ARM64");
        assert!(
            r.get("Other").is_none(),
            "AWS::NoValue removes the property"
        );
        assert_eq!(r["Tag"], "v2");
        assert_eq!(r["J"], "a-y");
        let sub = json!({"Fn::Sub": ["${Name}:${!Literal}", {"Name": "n"}]});
        assert_eq!(c.resolve(&sub).unwrap(), "n:${Literal}");
    }

    #[test]
    fn what_only_a_deploy_knows_is_named() {
        let c = context();
        for (v, says) in [
            (
                json!({"Fn::GetAtt": ["Repo", "RepositoryUri"]}),
                "Fn::GetAtt Repo.RepositoryUri",
            ),
            (json!({"Ref": "Repo"}), "a resource of the template"),
            (
                json!({"Ref": "AWS::URLSuffix"}),
                "--parameter AWS::URLSuffix=",
            ),
            (json!({"Ref": "Missing"}), "--parameter Missing="),
            (
                json!({"Fn::Sub": "${Repo.RepositoryUri}:1"}),
                "an attribute",
            ),
            (
                json!({"Fn::ImportValue": "shared-repo"}),
                "Fn::ImportValue shared-repo",
            ),
        ] {
            let e = c.resolve(&v).unwrap_err();
            assert!(e.contains(says), "{e}");
        }
    }
}

//! Column values as the table has them, whatever their exact SQL type: [`Raw`] reads any text or
//! bytea column as bytes, [`Int`] reads or writes any integer column (and reads decimal text),
//! so tables created by other tools (e.g. `when_to_run BIGINT`) work too.

use postgres::types::{to_sql_checked, FromSql, IsNull, ToSql, Type};
use std::error::Error;

type BoxError = Box<dyn Error + Sync + Send>;

/// The bytes of a text or bytea value (binary result format: text is its UTF-8 bytes).
pub struct Raw<'a>(pub &'a [u8]);

impl<'a> FromSql<'a> for Raw<'a> {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        Ok(Raw(raw))
    }
    fn accepts(ty: &Type) -> bool {
        matches!(
            *ty,
            Type::BYTEA | Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN
        )
    }
}

/// An integer of any width (decoded binary int2/int4/int8, or decimal text).
#[derive(Debug, Clone, Copy)]
pub struct Int(pub i64);

impl FromSql<'_> for Int {
    fn from_sql(ty: &Type, raw: &[u8]) -> Result<Self, BoxError> {
        let v = match *ty {
            Type::INT2 => i64::from(i16::from_sql(ty, raw)?),
            Type::INT4 => i64::from(i32::from_sql(ty, raw)?),
            Type::INT8 => i64::from_sql(ty, raw)?,
            _ => std::str::from_utf8(raw)?.trim().parse()?,
        };
        Ok(Int(v))
    }
    fn accepts(ty: &Type) -> bool {
        matches!(*ty, Type::INT2 | Type::INT4 | Type::INT8) || Raw::accepts(ty)
    }
}

impl ToSql for Int {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> Result<IsNull, BoxError> {
        match *ty {
            Type::INT2 => i16::try_from(self.0)?.to_sql(ty, out),
            Type::INT4 => i32::try_from(self.0)?.to_sql(ty, out),
            _ => self.0.to_sql(ty, out),
        }
    }
    fn accepts(ty: &Type) -> bool {
        matches!(*ty, Type::INT2 | Type::INT4 | Type::INT8)
    }
    to_sql_checked!();
}

/// The largest value an integer column of SQL type `data_type` (information_schema's spelling)
/// holds.
pub fn int_max(data_type: &str) -> i64 {
    match data_type {
        "smallint" => i64::from(i16::MAX),
        "integer" => i64::from(i32::MAX),
        _ => i64::MAX,
    }
}

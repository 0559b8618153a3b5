pub fn ping() -> u32 { 1 }
#[cfg(feature = "python")]
mod py;
